"""The synthetic world: videos whose sounds are caused by what is seen, with labels and events.

A generator of data for demos, tests and benchmarks, not part of the loader (``avts.data`` never
imports it). ``render.py`` draws, ``sound.py`` synthesises sounds, ``world.py`` moves the objects,
mixes the audio and writes the files.
"""

from avts.synth.world import SynthConfig, synthesize

__all__ = ["SynthConfig", "synthesize"]
