/* SPDX-License-Identifier: MIT */
/*
 * The metric table. A metric's range is what the physical quantity can be, not what is normal:
 * it catches a sensor that answers garbage (a humidity of 6553.5 %) without hiding a real fire
 * (smoke far above any alarm threshold is still inside the range).
 */
#include "forestwatch/reading.h"

#include <errno.h>
#include <string.h>

static const struct fw_metric metrics[] = {
    {"air_temp_c", "degC", "°C", -60, 70, "air temperature"},
    {"rel_humidity_pct", "%", "%RH", 0, 100, "relative humidity"},
    {"wind_speed_ms", "m/s", NULL, 0, 80, "wind speed (10 min mean where the node averages)"},
    {"wind_dir_deg", "deg", "°", 0, 360, "direction the wind blows from"},
    {"rain_mm", "mm", NULL, 0, 500, "rain since the node's previous report"},
    {"pressure_hpa", "hPa", NULL, 500, 1100, "air pressure"},
    {"smoke_ppm", "ppm", NULL, 0, 100000, "smoke concentration"},
    {"co_ppm", "ppm", NULL, 0, 10000, "carbon monoxide"},
    {"battery_v", "V", NULL, 0, 60, "battery or supply voltage"},
    {"soil_moisture_pct", "%", NULL, 0, 100, "volumetric soil moisture"},
    {"trap_count", "count", NULL, 0, 1000000, "insects caught since the previous report"},
    /* Sensor health, reported by the gateway's Modbus pollers for each device (docs/modbus.md). */
    {"device_online", "bool", NULL, 0, 1, "1 while the device answers, 0 once it is offline"},
    {"device_failures", "count", NULL, 0, 1e9, "consecutive failed polls of the device"},
    {"device_out_of_range", "count", NULL, 0, 1e6,
     "values of the last poll outside the profile's plausible range (not passed on)"},
    {"device_last_ok_age_s", "s", NULL, 0, 1e10, "seconds since the device's last good poll"},
    /* Radio link of LoRa nodes, from the network server's metadata of each uplink: the best
     * gateway's RSSI and its SNR (docs/uplink.md). */
    {"lora_rssi_dbm", "dBm", NULL, -200, 50, "RSSI of the node's last uplink at the best gateway"},
    {"lora_snr_db", "dB", NULL, -50, 50, "SNR of the node's last uplink at the best gateway"},
    /* A LoRa node's own answer to the network server's status request (LoRaWAN DevStatusAns),
     * from ChirpStack's status events (docs/uplink.md). */
    {"lora_margin_db", "dB", NULL, -32, 31,
     "SNR margin at which the node heard the network server's last status request"},
    {"lora_external_power", "bool", NULL, 0, 1,
     "1 when the node reports running on an external power source, 0 on its battery"},
    {"battery_pct", "%", NULL, 0, 100,
     "battery level the node reports, 0 (empty) .. 100 (full); none on external power"},
    /* Derived per zone by the fire-danger models; field nodes may not send them. */
    {"ffmc", "code", NULL, 0, 101, "Fine Fuel Moisture Code (FWI system)", FW_METRIC_ZONE},
    {"dmc", "code", NULL, 0, 10000, "Duff Moisture Code (FWI system)", FW_METRIC_ZONE},
    {"dc", "code", NULL, 0, 10000, "Drought Code (FWI system)", FW_METRIC_ZONE},
    {"isi", "index", NULL, 0, 10000, "Initial Spread Index (FWI system)", FW_METRIC_ZONE},
    {"bui", "index", NULL, 0, 10000, "Buildup Index (FWI system)", FW_METRIC_ZONE},
    {"fwi", "index", NULL, 0, 10000, "Fire Weather Index", FW_METRIC_ZONE},
    {"fire_danger_level", "level", NULL, 1, 5, "fire-danger level 1 (low) .. 5 (extreme)",
     FW_METRIC_ZONE},
    {"fire_danger_level_tomorrow", "level", NULL, 0, 5,
     "tomorrow's expected fire-danger level from the meteorology forecast; 0: no forecast",
     FW_METRIC_ZONE},
    {"fwi_tomorrow", "index", NULL, 0, 10000,
     "tomorrow's expected Fire Weather Index from the meteorology forecast", FW_METRIC_ZONE},
    {"nesterov_index", "index", NULL, 0, 1e7,
     "Nesterov ignition index: the sum of T (T - Td) at noon since the last day of 3 mm of rain",
     FW_METRIC_ZONE},
    {"hffmc", "code", NULL, 0, 101, "hourly Fine Fuel Moisture Code (Van Wagner 1977)",
     FW_METRIC_ZONE},
    {"fire_model_missing", "bool", NULL, 0, 1,
     "1 when today's fire-danger codes could not be computed (no usable noon data)",
     FW_METRIC_ZONE},
    /* Derived per zone by the pest models: the soonest expected stage of any pest of the zone. */
    {"pest_days_to_stage", "d", NULL, 0, 366,
     "days until the next stage of a pest of the zone is expected (degree-day forecast)",
     FW_METRIC_ZONE},
    /* Also from the pest models (docs/pests.md); degree_days is the same pest's as above. */
    {"degree_days", "dd", NULL, 0, 100000,
     "degree-days since the biofix of the pest of the zone with the soonest next stage",
     FW_METRIC_ZONE},
    {"pest_model_missing", "bool", NULL, 0, 1,
     "1 when yesterday's temperatures were too few for degree-days (accumulation paused)",
     FW_METRIC_ZONE},
    {"trap_count_day", "count", NULL, 0, 1e9, "insects caught in the zone's traps in a local day",
     FW_METRIC_ZONE},
    {"trap_count_week", "count", NULL, 0, 1e9,
     "insects caught in the zone's traps in the last 7 local days", FW_METRIC_ZONE},
    {"disease_risk_hours", "h", NULL, 0, 24,
     "hours of the last 24 with the humidity and temperature of the zone's disease weather",
     FW_METRIC_ZONE},
};

const struct fw_metric *fw_metric_find(const char *name)
{
    for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
        if (strcmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return NULL;
}

int fw_metric_unit_ok(const struct fw_metric *m, const char *unit)
{
    return strcmp(m->unit, unit) == 0 || (m->alias && strcmp(m->alias, unit) == 0);
}

const struct fw_metric *fw_metric_table(int *n)
{
    *n = (int)(sizeof(metrics) / sizeof(metrics[0]));
    return metrics;
}

static const char *const source_names[FW_SOURCE__COUNT] = {
    [FW_SOURCE_MQTT_NATIVE] = "mqtt", [FW_SOURCE_DERIVED] = "derived",
    [FW_SOURCE_MODBUS] = "modbus",    [FW_SOURCE_LORA] = "lora",
    [FW_SOURCE_METEO] = "meteo",
};

const char *fw_source_str(enum fw_source_kind k)
{
    return (unsigned)k < FW_SOURCE__COUNT ? source_names[k] : "?";
}

int fw_source_parse(const char *name, enum fw_source_kind *out)
{
    for (int i = 0; i < FW_SOURCE__COUNT; i++)
        if (strcmp(source_names[i], name) == 0) {
            *out = (enum fw_source_kind)i;
            return 0;
        }
    return -EINVAL;
}
