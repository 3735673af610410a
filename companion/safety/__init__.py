"""Safety: toxicity (Detoxify or an offline fallback), rules, intensity cap, the pipeline."""
