"""Ways of running Qianshou: the local stack, the qianshou command, the demo."""
