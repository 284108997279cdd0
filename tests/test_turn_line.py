"""The one line per turn that `run`, `listen` and `demo` print (present.turn_line)."""

from __future__ import annotations

from assistant.config import DEFAULT_CONFIG_DIR
from assistant.devices.registry import load_registry
from assistant.messages import Interaction, NotUnderstood, Transcript, WakeDetected
from assistant.present import turn_line


def test_speech_that_is_no_command_is_not_shown_as_empty_quotes():
    """A rejected transcript has no text; the line said "heard '': not understood"."""
    registry = load_registry(DEFAULT_CONFIG_DIR)
    wake = WakeDetected("hey_jarvis", 1760, 0.9)
    rejected = Interaction(wake, None, Transcript("", 0.1, "test", rejected=True), (),
                           NotUnderstood("", "speech not recognised as a command"))
    assert turn_line(registry, rejected) == \
        "[  1.76 s] heard nothing it knows: not understood (speech not recognised as a command)"
    heard = Interaction(wake, None, Transcript("sing a song", 0.9, "test"), (), NotUnderstood("sing a song", "no"))
    assert turn_line(registry, heard) == "[  1.76 s] heard 'sing a song': not understood (no)"
