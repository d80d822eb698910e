"""Qianshou's contracts and the small infrastructure every service shares."""
