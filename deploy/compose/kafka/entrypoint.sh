#!/bin/sh
# Render the properties (the host-facing advertised port), format the storage once, run the broker.
set -eu
sed "s/@KAFKA_HOST_PORT@/${KAFKA_HOST_PORT:-29092}/" /opt/kafka/server.properties.in > /tmp/server.properties
CP='/opt/kafka/libs/*'
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  java -cp "$CP" kafka.tools.StorageTool format -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" \
    -c /tmp/server.properties --ignore-formatted
fi
exec java -Xms256m -Xmx512m -XX:+UseG1GC -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties \
  -cp "$CP" kafka.Kafka /tmp/server.properties
