"""The result file, the contract: records, the writer and the reader."""
