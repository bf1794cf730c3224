"""The ``hospiai`` command and the development launcher. It drives both services, so it lives
beside them rather than inside either, and neither service package imports the other."""
