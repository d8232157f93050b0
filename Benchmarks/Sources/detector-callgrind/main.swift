// Runs the detector once over a fixed synthetic input, for instruction counts under
// `valgrind --tool=callgrind`. usage: detector-callgrind [RATE_HZ] [SAMPLES]
import DetectorWorkload

let arguments = CommandLine.arguments
let rate = arguments.count > 1 ? Double(arguments[1]) ?? 1000 : 1000
let count = arguments.count > 2 ? Int(arguments[2]) ?? 600_000 : 600_000
let workload = Workload(rate: rate, count: count)
let twitches = workload.run()
print("rate \(rate) Hz, \(count) samples, \(twitches) twitches")
