"""The learning-rate range test and the batch-size search: suggestion maths
(``suggest``, numpy only) apart from the torch part (``finders``) and its process
(``worker``).
"""
