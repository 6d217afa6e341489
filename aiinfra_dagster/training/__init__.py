"""Model training: the base-model store, LoRA fine-tuning (optionally under DeepSpeed), the topic classifier,
experiment tracking."""
