"""OceanBase Cloud Platform (OCP) alarms through a custom-script channel; see README.md."""
