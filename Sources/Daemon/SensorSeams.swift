/// Ways to turn a configured sensor into a ``SampleSource``. The Daemon defines none itself: it
/// imports no hardware or simulator module. The `Sensors` module adds `drivers` (every sensor
/// through its chip driver, real or simulated); tests add their own.
public enum SourceFactories {}
