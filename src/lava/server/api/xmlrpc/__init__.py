"""XML-RPC at ``/RPC2``, as LAVA serves it: the methods lavacli calls, LAVA's faults and types."""
