# Golden outputs of R `surveillance` for wellbeat.analytics.aberration.
#
# Run from this directory:  Rscript make_golden.R
# Writes data_<set>.csv (the input series, long format), case_<name>.csv (R's results per
# series and monitored position) and cases.json (method, data set and the control parameters,
# spelled as the Python keyword arguments). Needs R >= 4.2, surveillance 1.20.x, jsonlite.
suppressPackageStartupMessages({
  library(surveillance)
  library(jsonlite)
})
options(warn = -1)

cases <- list()

write_data <- function(name, sts_obj, population = NULL) {
  obs <- observed(sts_obj)
  pop <- if (is.null(population)) population(sts_obj) else population
  n <- nrow(obs)
  rows <- lapply(seq_len(ncol(obs)), function(j) {
    frame <- data.frame(series = j, index = seq_len(n), count = obs[, j],
                        population = pop[, j])
    if (sts_obj@epochAsDate) {
      frame$date <- format(as.Date(epoch(sts_obj), origin = "1970-01-01"))
    }
    frame
  })
  write.csv(do.call(rbind, rows), sprintf("data_%s.csv", name), row.names = FALSE)
}

add_case <- function(name, method, data, args, frame) {
  write.csv(frame, sprintf("case_%s.csv", name), row.names = FALSE)
  cases[[length(cases) + 1]] <<- list(name = name, method = method, data = data, args = args)
}

as_sts <- function(disprog) disProg2sts(disprog)

# ---- data sets --------------------------------------------------------------------------
data("salmonella.agona"); agona <- as_sts(salmonella.agona)
data("ha.sts"); data("shadar"); shadar_sts <- as_sts(shadar)
data("m1"); m1_sts <- as_sts(m1)
data("salmNewport"); newport <- salmNewport[, 1:4]
data("campyDE")
campy <- sts(observed = campyDE$case, epoch = as.Date(campyDE$date), frequency = 52)
# ha.sts with a growing population, so that the population offset matters.
ha_grow <- ha.sts
population(ha_grow) <- outer(seq(1, 1.6, length.out = nrow(ha.sts)),
                             seq(50000, 160000, length.out = ncol(ha.sts)))

write_data("agona", agona)
write_data("ha", ha.sts)
write_data("shadar", shadar_sts)
write_data("m1", m1_sts)
write_data("newport", newport)
write_data("campy", campy)
write_data("ha_grow", ha_grow)

datasets <- list(agona = agona, ha = ha.sts, shadar = shadar_sts, m1 = m1_sts,
                 newport = newport, campy = campy, ha_grow = ha_grow)

# ---- EARS ---------------------------------------------------------------------------------
ears_case <- function(name, data, control, args) {
  res <- earsC(datasets[[data]], control = control)
  idx <- if (is.null(control$range)) tail(seq_len(nrow(datasets[[data]])), nrow(res)) else
    sort(control$range)
  frame <- do.call(rbind, lapply(seq_len(ncol(res)), function(j) data.frame(
    series = j, index = idx, observed = observed(res)[, j],
    upperbound = res@upperbound[, j], alarm = as.integer(res@alarm[, j]))))
  add_case(name, "ears", data, args, frame)
}
ears_case("ears_c1_agona", "agona", list(method = "C1"), list(method = "C1"))
ears_case("ears_c2_ha", "ha", list(method = "C2"), list(method = "C2"))
ears_case("ears_c3_ha", "ha", list(method = "C3"), list(method = "C3"))
ears_case("ears_c1_ha_tuned", "ha", list(method = "C1", baseline = 10, minSigma = 1,
                                         alpha = 0.01, range = 100:290),
          list(method = "C1", baseline = 10, min_sigma = 1, alpha = 0.01, range = c(100, 290)))
ears_case("ears_c3_shadar_tuned", "shadar", list(method = "C3", baseline = 5, alpha = 0.05),
          list(method = "C3", baseline = 5, alpha = 0.05))
ears_case("ears_c2_campy", "campy", list(method = "C2", minSigma = 0.5),
          list(method = "C2", min_sigma = 0.5))

# ---- CUSUM --------------------------------------------------------------------------------
cusum_case <- function(name, data, control, args) {
  s <- datasets[[data]]
  frame <- do.call(rbind, lapply(seq_len(ncol(s)), function(j) {
    res <- algo.cusum(sts2disProg(s[, j]), control = control)
    m <- res$control$m
    data.frame(series = j, index = control$range,
               observed = observed(s)[control$range, j],
               expected = if (length(m) == 1) rep(m, length(control$range)) else m,
               upperbound = res$upperbound, score = res$cusum,
               alarm = as.integer(res$alarm))
  }))
  add_case(name, "cusum", data, args, frame)
}
cusum_case("cusum_ha", "ha", list(range = 209:290), list(range = c(209, 290)))
cusum_case("cusum_agona_rossi", "agona", list(range = 200:312, trans = "rossi", k = 0.5, h = 4),
           list(range = c(200, 312), trans = "rossi", k = 0.5, h = 4))
cusum_case("cusum_ha_anscombe", "ha", list(range = 150:290, trans = "anscombe"),
           list(range = c(150, 290), trans = "anscombe"))
cusum_case("cusum_ha_anscombe2nd", "ha", list(range = 150:290, trans = "anscombe2nd", m = 2),
           list(range = c(150, 290), trans = "anscombe2nd", m = 2))
cusum_case("cusum_shadar_negbin", "shadar",
           list(range = 160:295, trans = "pearsonNegBin", alpha = 0.3),
           list(range = c(160, 295), trans = "pearsonNegBin", alpha = 0.3))
cusum_case("cusum_agona_glm", "agona", list(range = 157:312, m = "glm"),
           list(range = c(157, 312), m = "glm"))

# ---- Farrington (algo.farrington) ---------------------------------------------------------
farrington_case <- function(name, data, control, args, population = FALSE) {
  s <- datasets[[data]]
  frame <- do.call(rbind, lapply(seq_len(ncol(s)), function(j) {
    dp <- sts2disProg(s[, j])
    if (!s@epochAsDate) dp$epochAsDate <- NULL
    res <- algo.farrington(dp, control = control)
    rng <- res$control$range
    mu0 <- res$control$pd[, 2]
    ub <- as.vector(res$upperbound)
    y <- observed(s)[rng, j]
    data.frame(series = j, index = rng, observed = y, expected = mu0, upperbound = ub,
               score = ifelse(ub > 0 | y == mu0, (y - mu0) / (ub - mu0), 0),
               alarm = as.integer(res$alarm), trend = as.integer(res$trend))
  }))
  add_case(name, "farrington", data, args, frame)
}
farrington_case("farrington_agona", "agona", list(), list())
farrington_case("farrington_ha", "ha", list(), list())
farrington_case("farrington_shadar_tuned", "shadar",
                list(b = 3, w = 2, reweight = FALSE, alpha = 0.01, powertrans = "1/2"),
                list(b = 3, w = 2, reweight = FALSE, alpha = 0.01, powertrans = "1/2"))
farrington_case("farrington_m1_notrend", "m1",
                list(trend = FALSE, limit54 = c(3, 2), powertrans = "none", range = 160:209),
                list(trend = FALSE, limit54 = c(3, 2), powertrans = "none",
                     range = c(160, 209)))
farrington_case("farrington_ha_offset", "ha_grow",
                list(fitFun = "algo.farrington.fitGLM.populationOffset", range = 250:290),
                list(fit_fun = "algo.farrington.fitGLM.populationOffset",
                     range = c(250, 290)))
farrington_case("farrington_newport_dates", "newport", list(), list())
farrington_case("farrington_ha_two_years", "ha", list(b = 2, range = 110:290),
                list(b = 2, range = c(110, 290)))

# ---- Farrington flexible ------------------------------------------------------------------
flexible_case <- function(name, data, control, args) {
  s <- datasets[[data]]
  res <- farringtonFlexible(s, control = control)
  rng <- if (is.null(control$range)) tail(seq_len(nrow(s)), nrow(res)) else control$range
  frame <- do.call(rbind, lapply(seq_len(ncol(s)), function(j) data.frame(
    series = j, index = rng, observed = observed(res)[, j],
    expected = res@control$expected[, j], upperbound = res@upperbound[, j],
    score = res@control$score[, j], alarm = as.integer(res@alarm[, j]),
    pvalue = res@control$pvalue[, j], trend = res@control$trend[, j])))
  add_case(name, "farrington-flexible", data, args, frame)
}
flexible_case("flexible_newport", "newport", list(), list())
flexible_case("flexible_campy", "campy", list(range = 400:522), list(range = c(400, 522)))
flexible_case("flexible_ha_periods", "ha",
              list(noPeriods = 10, pastWeeksNotIncluded = 26, b = 3, w = 3, range = 200:290),
              list(no_periods = 10, past_weeks_not_included = 26, b = 3, w = 3,
                   range = c(200, 290)))
flexible_case("flexible_ha_offset", "ha_grow",
              list(populationOffset = TRUE, range = 265:290),
              list(population_offset = TRUE, range = c(265, 290)))
flexible_case("flexible_agona_nbplugin", "agona",
              list(thresholdMethod = "nbPlugin", b = 4, range = 220:312),
              list(threshold_method = "nbPlugin", b = 4, range = c(220, 312)))
flexible_case("flexible_agona_muan", "agona",
              list(thresholdMethod = "muan", alpha = 0.01, range = 265:312),
              list(threshold_method = "muan", alpha = 0.01, range = c(265, 312)))
flexible_case("flexible_shadar_tuned", "shadar",
              list(weightsThreshold = 1, pThresholdTrend = 1, limit54 = c(0, 1),
                   powertrans = "none", w = 2, b = 3, range = 170:295),
              list(weights_threshold = 1, p_threshold_trend = 1, limit54 = c(0, 1),
                   powertrans = "none", w = 2, b = 3, range = c(170, 295)))
flexible_case("flexible_ha_two_years", "ha", list(b = 2, range = 110:290),
              list(b = 2, range = c(110, 290)))
flexible_case("flexible_m1_plain", "m1",
              list(trend = FALSE, reweight = FALSE, alpha = 0.1, powertrans = "1/2",
                   b = 3, range = 170:209),
              list(trend = FALSE, reweight = FALSE, alpha = 0.1, powertrans = "1/2",
                   b = 3, range = c(170, 209)))

manifest <- list(
  r_version = R.version.string,
  surveillance_version = as.character(packageVersion("surveillance")),
  frequency = 52,
  cases = cases
)
writeLines(toJSON(manifest, auto_unbox = TRUE, pretty = TRUE, digits = NA), "cases.json")
cat("wrote", length(cases), "cases\n")
