// Reads samples through the ADXL345 driver from the simulated chip on a virtual clock, for
// instruction counts under `valgrind --tool=callgrind` (or a profile under `perf record`).
// usage: acquisition-callgrind [RATE_HZ] [SAMPLES] [limb|rest]
import AcquisitionWorkload

let arguments = CommandLine.arguments
let rate = arguments.count > 1 ? Double(arguments[1]) ?? 3200 : 3200
let count = arguments.count > 2 ? Int(arguments[2]) ?? 200_000 : 200_000
let limb = arguments.count > 3 ? arguments[3] != "rest" : true
do {
    let workload = try AcquisitionWorkload(rate: rate, limb: limb)
    let checksum = workload.read(samples: count)
    print(
        "rate \(rate) Hz, \(count) samples, \(limb ? "limb simulator" : "resting noise"), checksum \(checksum)"
    )
} catch {
    print("acquisition-callgrind: \(error)")
}
