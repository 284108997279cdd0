"""One error family. Every message is written for a person: it names the thing and the fix."""


class AssistantError(Exception):
    """Base of every error the assistant reports as one line instead of a traceback."""


class ConfigError(AssistantError):
    """A settings, registry or sentence file is malformed (message names file, line and key)."""


class AudioError(AssistantError):
    """A WAV file or audio device cannot be read."""


class ModelError(AssistantError):
    """A model file is missing, corrupt, or cannot be loaded."""


class SpeechError(AssistantError):
    """A speech recognizer failed."""


class DeviceError(AssistantError):
    """A device command is not valid for the device it addresses."""


class BrokerError(AssistantError):
    """The MQTT broker cannot be reached or refused us."""


class UnknownWordsError(ConfigError):
    """Words the speech recognizer has no pronunciation for. The recognizer knows only the words; whoever
    built its grammar says where they are written (intents.words.unknown_words_error)."""

    def __init__(self, message: str, words: tuple[str, ...]):
        super().__init__(message)
        self.words = words
