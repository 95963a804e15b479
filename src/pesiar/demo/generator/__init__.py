"""Synthetic but realistic registers for province Jambi, with ground truth.

`generate(population, seed, out_dir)` writes the population, membership and social-list
extracts in the formats of the source agencies, and the truth every later step is measured
against. See `calibration` for the published figures it reproduces.
"""

from pesiar.demo.generator.scenario import Scenario, generate

__all__ = ["Scenario", "generate"]
