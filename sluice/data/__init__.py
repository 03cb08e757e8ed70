"""Raw data as read: CSV formats and typed rows, and columns as the feature lists TFDV and TFT read."""
