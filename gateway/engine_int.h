/* SPDX-License-Identifier: MIT */
/*
 * Engine declarations that only tests need. The engine keeps aggregations over stations
 * incrementally (fw_expr_aggs); a test turns that off on one engine to hold the kept values to a
 * recomputation on the very same stream.
 */
#ifndef FORESTWATCH_ENGINE_INT_H
#define FORESTWATCH_ENGINE_INT_H

struct fw_engine;

/** 1: recompute every aggregation at each evaluation, as the engine did before keeping them. */
void fw_engine__recompute_aggregates(struct fw_engine *e, int on);

#endif
