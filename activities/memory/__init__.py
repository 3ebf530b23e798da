"""Agent memory on Qdrant: proposals validated, de-duplicated and merged; people list, correct, pin, delete.

Empty on purpose: `activities.memory.contracts` must be importable from workflow code.
"""
