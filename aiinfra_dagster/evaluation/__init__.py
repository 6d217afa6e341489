"""Evaluation: golden-set answer quality, classifier scores, the promotion gate and the champion pointer."""
