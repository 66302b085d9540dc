"""Host probes: the machine (collect_* probes), the ISAs and CPUs this host runs, threads, hardware counters, the full run context."""
