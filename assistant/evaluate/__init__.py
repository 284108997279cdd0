"""Measure the whole voice loop on a labelled folder of WAVs: accuracy, rejection, latency, cost.

dataset.py reads the labels, noise.py mixes noise at a chosen SNR, runner.py streams every clip through
the real pipeline, metrics.py holds the pure scoring functions, summary.py turns clip results into the
report's figures and markdown, plots.py draws them.
"""
