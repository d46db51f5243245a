"""The run machinery: the command lines (`cli` for runs, `dashboard`, `sync`), one run at a time on
the lakehouse (`launcher`), which process runs a run (`processes`), what a run prints while it runs
(`progress`) and at its end (`summary`)."""
