// DeliveryMetrics: the counters a sink writing to an external system (kafka, redis, webhook)
// exports through engine/operator_metrics.h: segflow_sink_delivered_total (records the
// system acknowledged), segflow_sink_retries_total (attempts that failed and are tried
// again) and segflow_sink_failed_total (records given up: rejected or out of retries, sent
// to the dead-letter output). Thread safety: the counters from any thread.
#pragma once

#include "engine/operator_metrics.h"

namespace segflow {

struct DeliveryMetrics {
  explicit DeliveryMetrics(const OperatorMetrics& m)
      : delivered(m.counter("segflow_sink_delivered_total",
                            "Records a sink's external system acknowledged")),
        retries(m.counter("segflow_sink_retries_total",
                          "Delivery attempts of a sink that failed and are tried again")),
        failed(m.counter("segflow_sink_failed_total",
                         "Records a sink gave up on (rejected or out of retries; dead-lettered)")) {
  }

  MetricCounter& delivered;
  MetricCounter& retries;
  MetricCounter& failed;
};

}  // namespace segflow
