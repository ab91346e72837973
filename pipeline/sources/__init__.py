"""Generic reading: files, zips, encodings, value coercion, and the delimited, spreadsheet
and fixed-width readers any code set can use."""
