extension Report {
    /// One self-contained HTML page.
    public func html() -> String { "<!doctype html><title>twitchd report</title>" }
}
