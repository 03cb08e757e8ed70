"""Data validation: findings from TFDV statistics, reports, schema freezing, serving-data checks."""
