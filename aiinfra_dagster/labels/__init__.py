"""Labeling for the data-preparation stage: reference labels to measure against, programmatic
labeling functions, an embedding zero-shot labeler, and a label model that weighs them by
their estimated accuracy instead of trusting every vote equally."""
