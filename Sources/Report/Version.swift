/// twitchd's version, printed in reports (the HTML footer) so a report says what made it.
public let twitchdVersion = "0.1.0"
