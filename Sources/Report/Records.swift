// What a report is made of: twitches, exposure periods and notes read back from the journal.

/// One twitch entry (`MESSAGE_ID=e1a046b8355640d8bf66367ef4914329`).
public struct TwitchRecord: Sendable, Equatable {
    /// Onset, microseconds since the epoch (`TWITCH_ONSET_REALTIME_USEC`).
    public var timeUsec: Int64
    public var location: String
    public var sensor: String
    public var peakMg: Double
    public var frequencyHz: Double
    public var durationMs: Double
    /// `TWITCH_WEARER`, else the host name, else the machine id: who this is about.
    public var machine: String
    public var simulated: Bool

    public init(
        timeUsec: Int64, location: String, sensor: String = "", peakMg: Double = 0, frequencyHz: Double = 0,
        durationMs: Double = 0, machine: String = "", simulated: Bool = false
    ) {
        self.timeUsec = timeUsec
        self.location = location
        self.sensor = sensor
        self.peakMg = peakMg
        self.frequencyHz = frequencyHz
        self.durationMs = durationMs
        self.machine = machine
        self.simulated = simulated
    }
}

/// One exposure entry (`MESSAGE_ID=07cc454edfa24dcead5a9b11faa154fb`): how long one sensor was in
/// each condition between `startUsec` and `endUsec`.
public struct ExposureRecord: Sendable, Equatable {
    public var startUsec: Int64
    public var endUsec: Int64
    public var location: String
    public var sensor: String
    /// Seconds.
    public var rest: Double
    public var active: Double
    public var notWorn: Double
    public var gap: Double
    public var samplesLost: Int
    public var machine: String
    public var simulated: Bool

    public init(
        startUsec: Int64, endUsec: Int64, location: String, sensor: String = "", rest: Double,
        active: Double = 0, notWorn: Double = 0, gap: Double = 0, samplesLost: Int = 0, machine: String = "",
        simulated: Bool = false
    ) {
        self.startUsec = startUsec
        self.endUsec = endUsec
        self.location = location
        self.sensor = sensor
        self.rest = rest
        self.active = active
        self.notWorn = notWorn
        self.gap = gap
        self.samplesLost = samplesLost
        self.machine = machine
        self.simulated = simulated
    }
}

/// One note (`MESSAGE_ID=af031bbaa21147288fe49214982afefe`).
public struct NoteRecord: Sendable, Equatable {
    public var timeUsec: Int64
    /// `caffeine`, `exercise`, `stress`, `alcohol`, `sleep`, or `text`.
    public var kind: String
    public var text: String
    public var location: String?
    /// `_UID` of the writer (journald's, not the writer's claim).
    public var uid: Int
    public var machine: String

    public init(
        timeUsec: Int64, kind: String, text: String = "", location: String? = nil, uid: Int = 0,
        machine: String = ""
    ) {
        self.timeUsec = timeUsec
        self.kind = kind
        self.text = text.isEmpty ? kind : text
        self.location = location
        self.uid = uid
        self.machine = machine
    }
}

/// Everything read for one report, and what was left out and why.
public struct ReportData: Sendable {
    public var twitches: [TwitchRecord] = []
    public var exposures: [ExposureRecord] = []
    public var notes: [NoteRecord] = []
    /// Entries with a twitchd `MESSAGE_ID` that failed the trust rules (not written by the
    /// twitchd service or the twitchd writer under a trusted uid).
    public var untrusted = 0
    /// Simulated entries left out (without `--simulated`).
    public var simulatedSkipped = 0
    /// Entries counted twice in the journal (spool redelivery), counted once.
    public var duplicates = 0
    /// Entries whose fields could not be read (missing or not a number).
    public var malformed = 0

    public init() {}
}
