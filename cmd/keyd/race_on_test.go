//go:build race

package main

// raceEnabled makes the daemon under test a race-detector build too.
const raceEnabled = true
