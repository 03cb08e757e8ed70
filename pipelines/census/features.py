"""The census (UCI Adult) columns, declared once; everything else derives from these."""

NUMERIC_FEATURE_KEYS = (
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
)
CATEGORICAL_FEATURE_KEYS = (
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
)
LABEL_KEY = "income_bracket"
POSITIVE_LABEL = ">50K"

# File order of adult.data / adult.test, with the type each value takes in a tf.Example.
CSV_COLUMNS = {
    "age": "int",
    "workclass": "string",
    "fnlwgt": "int",
    "education": "string",
    "education_num": "int",
    "marital_status": "string",
    "occupation": "string",
    "relationship": "string",
    "race": "string",
    "sex": "string",
    "capital_gain": "int",
    "capital_loss": "int",
    "hours_per_week": "int",
    "native_country": "string",
    "income_bracket": "string",
}
