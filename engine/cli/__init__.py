"""The ``traindoc`` command line: ``main`` parses and dispatches; one module per
command (``train``, ``diagnose``, ``find``).
"""
