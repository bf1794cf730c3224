"""The hospital domain: directory, live status, doctors, slots and appointments."""
