"""Which satellite answers when several woke on one utterance: the one that heard it best.

Pure: wake claims (satellite, hub time, wake score, the wake word's speech-to-noise ratio) in, verdicts out;
times are milliseconds on the hub's clock, handed in. The first claim opens a contest; it is decided when
the window has passed since then, or as soon as one of its satellites has its whole command (waiting longer
would only delay the answer: a satellite that has not woken by the time another has heard the whole
command did not hear the same wake word). Every other claimant, and any claim that comes in before the
window of a decided contest has run out, is told to stand down: one utterance, one turn.

The speech-to-noise ratio alone ranks the satellites; the wake score only breaks an exact tie. The score
says little about how well the words were heard (it is near 1 for any clear wake word): on
scripts/dedup_trial.py (seed 2, 40 utterances), letting it decide between ratios within 0.3 dB chose the
worse-heard satellite twice where the ratio alone chose right.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)
DEFAULT_WINDOW_MS = 1500
SNR_TIE_DB = 0.0  # closer than this, the wake score decides


@dataclass(frozen=True)
class WakeClaim:
    satellite: str
    at_ms: int  # when the hub heard of it
    score: float
    snr_db: float | None  # None: not measured (ranks below any measured one)


@dataclass(frozen=True)
class Verdict:
    satellite: str
    go: bool  # True: this satellite's command is the turn; False: stand down
    winner: str
    why: str


class WakeArbiter:
    def __init__(self, window_ms: int = DEFAULT_WINDOW_MS):
        self.window_ms = window_ms
        self._claims: dict[str, WakeClaim] = {}  # the open contest, by satellite
        self._opened_ms: int | None = None
        self._winner: str | None = None  # of the last decided contest ...
        self._decided_until_ms = -1  # ... whose window runs until then

    def claim(self, claim: WakeClaim) -> list[Verdict]:
        """A satellite woke. Returns a stand-down at once when a contest on this utterance is already decided;
        with no window (de-duplication off), every wake goes at once."""
        if self.window_ms <= 0:
            return [Verdict(claim.satellite, True, claim.satellite, "de-duplication is off")]
        if claim.at_ms < self._decided_until_ms and claim.satellite != self._winner and not self._claims:
            why = f"{self._winner} already has this turn"
            log.info("wake from %s stands down: %s", claim.satellite, why)
            return [Verdict(claim.satellite, False, self._winner or "", why)]
        if self._opened_ms is None:
            self._opened_ms = claim.at_ms
        self._claims[claim.satellite] = claim
        return []

    def due_ms(self) -> int | None:
        """When the open contest must be decided (None: none is open)."""
        return None if self._opened_ms is None else self._opened_ms + self.window_ms

    def tick(self, now_ms: int) -> list[Verdict]:
        due = self.due_ms()
        return self._decide(now_ms) if due is not None and now_ms >= due else []

    def command_ready(self, satellite: str, now_ms: int) -> list[Verdict]:
        """A claimant's whole command has arrived: the contest it is in is decided now."""
        return self._decide(now_ms) if satellite in self._claims else []

    def forget(self, satellite: str) -> list[Verdict]:
        """A claimant went away: it can win nothing; a contest left empty is closed."""
        self._claims.pop(satellite, None)
        if not self._claims:
            self._opened_ms = None
        return []

    def _decide(self, now_ms: int) -> list[Verdict]:
        claims = list(self._claims.values())
        best_snr = max((c.snr_db for c in claims if c.snr_db is not None), default=None)
        near = [c for c in claims if best_snr is None or (c.snr_db is not None and c.snr_db >= best_snr - SNR_TIE_DB)]
        winner = max(near, key=lambda c: (c.score, c.snr_db if c.snr_db is not None else float("-inf")))
        self._winner = winner.satellite
        self._decided_until_ms = (now_ms if self._opened_ms is None else self._opened_ms) + self.window_ms
        self._claims, self._opened_ms = {}, None
        verdicts = [Verdict(winner.satellite, True, winner.satellite, "heard it best")]
        for c in claims:
            if c is not winner:
                verdicts.append(Verdict(c.satellite, False, winner.satellite,
                                        f"{winner.satellite} heard it better ({_db(winner.snr_db)} against "
                                        f"{_db(c.snr_db)})"))
        if len(claims) > 1:
            log.info("one utterance, %d satellites: %s takes it (%s)", len(claims), winner.satellite,
                     ", ".join(f"{c.satellite} {_db(c.snr_db)} score {c.score:.2f}" for c in claims))
        return verdicts


def _db(snr_db: float | None) -> str:
    return "unmeasured" if snr_db is None else f"{snr_db:.1f} dB"
