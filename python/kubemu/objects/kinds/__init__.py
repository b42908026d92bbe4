"""One module per kind; :class:`Kind` describes a resource type to the apiserver.

The kind objects: ``NAMESPACE``, ``NODE``, ``POD``, ``SERVICE``, ``ENDPOINTS``,
``ENDPOINT_SLICE``, ``REPLICA_SET``, ``REPLICATION_CONTROLLER``, ``DEPLOYMENT``, ``DAEMON_SET``,
``JOB``, ``SERVICE_ACCOUNT``, ``SECRET``, ``CONFIG_MAP``, ``LEASE``, ``EVENT``,
``PRIORITY_CLASS``, ``POD_DISRUPTION_BUDGET``; :mod:`kubemu.objects.registry` indexes them.
"""

from kubemu.objects.kinds.base import Kind, Obj
from kubemu.objects.kinds.configmap import CONFIG_MAP
from kubemu.objects.kinds.daemonset import DAEMON_SET
from kubemu.objects.kinds.deployment import DEPLOYMENT
from kubemu.objects.kinds.endpoints import ENDPOINTS
from kubemu.objects.kinds.endpointslice import ENDPOINT_SLICE
from kubemu.objects.kinds.event import EVENT
from kubemu.objects.kinds.job import JOB
from kubemu.objects.kinds.lease import LEASE
from kubemu.objects.kinds.namespace import NAMESPACE
from kubemu.objects.kinds.node import NODE
from kubemu.objects.kinds.pod import POD, bind, compute_qos_class
from kubemu.objects.kinds.poddisruptionbudget import POD_DISRUPTION_BUDGET
from kubemu.objects.kinds.priorityclass import PRIORITY_CLASS
from kubemu.objects.kinds.replicaset import REPLICA_SET
from kubemu.objects.kinds.replicationcontroller import REPLICATION_CONTROLLER
from kubemu.objects.kinds.secret import SECRET
from kubemu.objects.kinds.service import SERVICE
from kubemu.objects.kinds.serviceaccount import SERVICE_ACCOUNT

__all__ = [
    "CONFIG_MAP",
    "DAEMON_SET",
    "DEPLOYMENT",
    "ENDPOINTS",
    "ENDPOINT_SLICE",
    "EVENT",
    "JOB",
    "LEASE",
    "NAMESPACE",
    "NODE",
    "POD",
    "POD_DISRUPTION_BUDGET",
    "PRIORITY_CLASS",
    "REPLICATION_CONTROLLER",
    "REPLICA_SET",
    "SECRET",
    "SERVICE",
    "SERVICE_ACCOUNT",
    "Kind",
    "Obj",
    "bind",
    "compute_qos_class",
]
