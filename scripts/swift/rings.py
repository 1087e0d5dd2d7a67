#!/usr/bin/python3
"""Write one-replica, one-device account/container/object rings for a loopback test Swift.

Usage: rings.py <swift_dir> <account-port> <container-port> <object-port>

Same result as `swift-ring-builder <x>.builder create 10 1 1; add r1z1-127.0.0.1:<port>/d1 100;
rebalance`, done in one interpreter because nine swift-ring-builder runs cost seconds.
"""
import os
import sys

from swift.common.ring import RingBuilder


def main():
    swift_dir = sys.argv[1]
    for kind, port in zip(("account", "container", "object"), sys.argv[2:5]):
        builder = RingBuilder(10, 1, 1)
        builder.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port), "device": "d1", "weight": 100})
        builder.rebalance()
        builder.get_ring().save(os.path.join(swift_dir, f"{kind}.ring.gz"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
