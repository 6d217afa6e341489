"""Synthetic question/answer data from documentation chunks.

Human-written training pairs are scarce, so candidates are generated from the
chunks (a cheap template generator, or the base LLM), filtered so that nothing
unusable, private, duplicated or leaked from the golden set survives, and
turned into supervised fine-tuning examples.  Every dropped candidate keeps
its reason, so a run can be audited rather than trusted.
"""
