"""Tests of Playhead (a package, so suites share helpers by import)."""
