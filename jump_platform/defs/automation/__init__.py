"""When the lakehouse refreshes without anyone launching anything: schedules and sensors."""
