"""Models from a Transform artifact: features, datasets, families, baselines, fitting, metrics, export, prediction."""
