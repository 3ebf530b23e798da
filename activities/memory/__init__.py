"""Agent memory on Qdrant: proposals validated, de-duplicated and merged; people list, correct, pin, delete.

Empty on purpose: `workflows.contracts.memory` must be importable from workflow code.
"""
