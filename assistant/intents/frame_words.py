"""The words frames.read() knows: action words and phrases with their values, kinds of device, the words
that carry no meaning of their own, numbers. Vocabulary only; frames.py holds the reading."""

from __future__ import annotations

ONES = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                    "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
# Forms of a verb that say the same as the verb ("would you mind opening the blinds").
VERB_FORMS = {"opening": "open", "closing": "close", "dimming": "dim", "setting": "set", "turning": "turn",
               "switching": "switch", "putting": "put", "raising": "raise", "lowering": "lower", "shutting": "shut",
               "brightening": "brighten", "starting": "start", "killing": "kill", "making": "make"}
# Whole phrases first (longest wins), then single words. Each gives (cue, value).
PHRASES = {
    "fire up": ("on", None), "power up": ("on", None), "power on": ("on", None), "start up": ("on", None),
    "power down": ("off", None), "shut down": ("off", None), "power off": ("off", None),
    "all the way up": ("level", 100), "all the way down": ("level", 1), "right down": ("level", 1),
    "as bright as possible": ("level", 100), "full blast": ("level", 100), "as high as it goes": ("level", 100),
    "more light": ("step", 1), "less light": ("step", -1),
    "warm up": ("ct_step", -500), "cool down": ("ct_step", 500), "warm white": ("kelvin", 2700), "soft white": ("kelvin", 3000), "neutral white": ("kelvin", 3500),
    "cool white": ("kelvin", 4000), "cold white": ("kelvin", 4000), "day light": ("kelvin", 5000),
    "never mind": ("nevermind", None), "cancel that": ("nevermind", None), "scratch that": ("nevermind", None),
    "forget it": ("nevermind", None), "forget i said anything": ("nevermind", None), "forget that": ("nevermind", None),
    "in here": ("here", None), "this room": ("here", None), "in the house": ("house", None),
    "in every room": ("house", None), "every room": ("house", None), "whole house": ("house", None),
    "color temperature": ("attr", "color_temp"), "half way": ("level", 50),
}
WORDS = {
    "on": ("on", None), "off": ("off", None), "out": ("off", None), "kill": ("off", None), "cut": ("off", None),
    "open": ("open", None), "opened": ("open", None), "raise": ("up", None), "up": ("up", None),
    "close": ("close", None), "closed": ("close", None), "shut": ("close", None), "lower": ("down", None),
    "down": ("down", None), "stop": ("stop", None), "halt": ("stop", None), "freeze": ("stop", None),
    "full": ("level", 100), "max": ("level", 100), "maximum": ("level", 100), "brightest": ("level", 100),
    "highest": ("level", 100), "top": ("level", 100), "fastest": ("level", 100),
    "minimum": ("level", 1), "min": ("level", 1), "lowest": ("level", 1), "dimmest": ("level", 1),
    "slowest": ("level", 1), "quietest": ("level", 1), "half": ("level", 50), "halfway": ("level", 50),
    "brighter": ("step", 1), "brighten": ("step", 1), "more": ("step", 1), "crank": ("up", None),
    "bump": ("up", None), "boost": ("step", 1), "increase": ("step", 1), "dim": ("step", -1), "dimmer": ("step", -1),
    "darker": ("step", -1), "less": ("step", -1), "decrease": ("step", -1), "reduce": ("step", -1),
    "warm": ("kelvin", 2700), "warmer": ("ct_step", -500), "cool": ("kelvin", 4000), "cooler": ("ct_step", 500),
    "colder": ("ct_step", 500), "neutral": ("kelvin", 3500), "daylight": ("kelvin", 5000),
    "auto": ("mode", "auto"), "automatic": ("mode", "auto"),
    "bit": ("small", None), "little": ("small", None), "notch": ("small", None), "touch": ("small", None),
    "tad": ("small", None), "slightly": ("small", None), "smidge": ("small", None), "lot": ("big", None),
    "percent": ("percent", None), "kelvin": ("kelvin_word", None),
    "brightness": ("attr", "brightness"), "bright": ("attr", "brightness"), "speed": ("speed_word", None),
    "level": ("speed_word", None), "setting": ("speed_word", None), "position": ("attr", "position"),
    "here": ("here", None), "everything": ("all", None), "all": ("all", None), "every": ("all", None),
    "everywhere": ("house", None), "house": ("house", None), "home": ("house", None),
    "cancel": ("nevermind", None),
}
LEVEL_VERBS = frozenset({"turn", "crank", "bump", "nudge", "push", "bring", "knock", "take", "move"})
KINDS = {"light": "light", "lights": "light", "lamp": "light", "lamps": "light", "bulb": "light", "bulbs": "light",
          "lighting": "light", "blind": "cover", "blinds": "cover", "shade": "cover", "shades": "cover",
          "fan": "purifier", "plug": "outlet", "socket": "outlet", "outlet": "outlet"}
# Words that carry no meaning of their own around a command. Not here, on purpose: tenses and narration
# (was, did, turned, yesterday), conditions (if, would, could), people (he, she, they), "it".
EMPTY = frozenset("""no oops wait sorry oh nudge push knock take the a an my our your to at in of for by with from into onto as well also too again now just
right some and i we me us you need want like have get make let set put turn switch go be can give bring keep
leave mind kind so its their please thanks thank favor love dear ever grateful change move adjust run running
do lighting mode scene a lot much way single whole room""".split())
UNFINISHED = frozenset({"and", "to", "the", "a", "of", "by", "at", "my", "in", "with", "for"})
WHITES = frozenset({"warm", "soft", "neutral", "cool", "cold", "day", "pure", "bright"})
QUERY_START = frozenset({"is", "are", "did", "does", "what", "how", "which"})
QUERY_EMPTY = frozenset({"switched", "turned", "left", "leave", "set", "still", "currently", "running", "at",
                          "what", "how", "which", "is", "are", "did", "does", "the", "of", "on", "in", "to", "i",
                          "we", "at", "level", "state", "far", "lit", "was"})

# The colours our sentence file names (config/sentences/en.yaml, list `color`).
COLORS = frozenset("red orange yellow green blue purple pink white".split())
