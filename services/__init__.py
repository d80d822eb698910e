"""The three Qianshou services: intake, scheduling, reporting."""
