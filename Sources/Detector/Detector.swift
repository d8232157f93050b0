// Detector: see Package.swift for what this module holds.
// Detector module
