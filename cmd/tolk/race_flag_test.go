package main

// raceEnabled is true when the test binary is built with -race.
var raceEnabled bool
