"""Run folders: each command's work, from the data to the files it writes."""
