# Golden outputs of R spdep for wellbeat.analytics.spatial (Gi*, local Moran, neighbours).
#
# Run from this directory:  Rscript make_golden.R
# Reads two of spdep's own example layers as shipped by spData (Debian r-cran-spdata):
#   columbus.shp (49 Columbus, OH neighbourhoods; Anselin 1988; its coordinates are read as
#   lon/lat for the k-nearest and distance-band cases) and sids.shp (100 North
#   Carolina counties). Writes, for each:
#   <name>.geojson          the polygons with their id field (what the tests and CLI read);
#   <name>_<weights>.csv     (zero.policy = TRUE throughout) per area: id, value, neighbours (1-based positions joined by ";"),
#                            localG with include.self and binary weights (G, E, V, Z, two-sided p)
#                            and localmoran with row-standardised weights, both null hypotheses
#                            (conditional = TRUE, spdep's default, and conditional = FALSE) and
#                            the pysal quadrant of (x - mean, lag);
#   golden.json              R and spdep versions, the cases, and global Moran's I of columbus
#                            CRIME (queen) as a sanity anchor (0.500189 in the literature).
# Needs r-base-core, r-cran-spdep and r-cran-spdata (no network).
suppressMessages(library(spdep))
options(digits = 17)
fmt <- function(x) trimws(formatC(x, digits = 17, format = "g"))

cases <- list(
  list(layer = "columbus", id = "POLYID", value = "CRIME", weights = "queen"),
  list(layer = "columbus", id = "POLYID", value = "CRIME", weights = "rook"),
  list(layer = "columbus", id = "POLYID", value = "HOVAL", weights = "queen"),
  list(layer = "columbus", id = "POLYID", value = "INC", weights = "knn4"),
  list(layer = "columbus", id = "POLYID", value = "HOVAL", weights = "band60000"),  # islands
  list(layer = "sids", id = "FIPS", value = "SID79", weights = "queen")
)

layers <- list()
ids <- unique(sapply(cases, function(case) case$id))
for (name in unique(sapply(cases, function(case) case$layer))) {
  shapes <- st_read(system.file(paste0("shapes/", name, ".shp"), package = "spData"),
                    quiet = TRUE)
  layers[[name]] <- shapes
  out <- paste0(name, ".geojson")
  if (file.exists(out)) file.remove(out)
  keep <- unique(unlist(lapply(Filter(function(case) case$layer == name, cases),
                               function(case) c(case$id, case$value))))
  # columbus stores POLYID as a double: write whole-number ids as integers.
  for (field in keep[sapply(keep, function(f) is.double(shapes[[f]]) && f %in% ids)]) {
    shapes[[field]] <- as.integer(shapes[[field]])
  }
  layers[[name]] <- shapes
  st_write(shapes[, keep], out, driver = "GeoJSON", quiet = TRUE,
           layer_options = c("COORDINATE_PRECISION=15", "RFC7946=NO"))
}

neighbours_of <- function(shapes, weights) {
  if (weights == "queen") return(poly2nb(shapes, queen = TRUE))
  if (weights == "rook") return(poly2nb(shapes, queen = FALSE))
  # Planar centroids (the layer has no CRS), then distances on the WGS84 ellipsoid.
  centres <- st_coordinates(st_centroid(st_geometry(shapes)))
  if (startsWith(weights, "band")) {
    metres <- as.numeric(sub("band", "", weights))
    return(dnearneigh(centres, 0, metres / 1000, longlat = TRUE))
  }
  k <- as.integer(sub("knn", "", weights))
  knn2nb(knearneigh(centres, k = k, longlat = TRUE))
}

summary_lines <- c()
for (case in cases) {
  shapes <- layers[[case$layer]]
  x <- as.numeric(shapes[[case$value]])
  nb <- neighbours_of(shapes, case$weights)
  # zero.policy = TRUE keeps areas without neighbours (the distance band has some).
  binary_star <- nb2listw(include.self(nb), style = "B", zero.policy = TRUE)
  g <- attr(localG(x, binary_star, zero.policy = TRUE, return_internals = TRUE,
                   alternative = "two.sided"), "internals")
  row_std <- nb2listw(nb, style = "W", zero.policy = TRUE)
  conditional <- localmoran(x, row_std, zero.policy = TRUE, conditional = TRUE,
                            alternative = "two.sided")
  total <- localmoran(x, row_std, zero.policy = TRUE, conditional = FALSE,
                      alternative = "two.sided")
  frame <- data.frame(
    id = as.character(shapes[[case$id]]),
    value = fmt(x),
    neighbours = sapply(nb, function(j) paste(j[j > 0], collapse = ";")),
    g = fmt(g[, 1]), g_expected = fmt(g[, 2]), g_variance = fmt(g[, 3]),
    g_z = fmt(g[, 4]), g_p = fmt(g[, 5]),
    ii = fmt(conditional[, 1]),
    ii_expected = fmt(conditional[, 2]), ii_variance = fmt(conditional[, 3]),
    ii_z = fmt(conditional[, 4]), ii_p = fmt(conditional[, 5]),
    ii_expected_total = fmt(total[, 2]), ii_variance_total = fmt(total[, 3]),
    ii_z_total = fmt(total[, 4]), ii_p_total = fmt(total[, 5]),
    quadrant = as.character(attr(conditional, "quadr")$pysal)
  )
  out <- sprintf("%s_%s_%s.csv", case$layer, tolower(case$value), case$weights)
  write.csv(frame, out, row.names = FALSE, quote = TRUE)
  summary_lines <- c(summary_lines, sprintf(
    '    {"file": "%s", "layer": "%s.geojson", "id_field": "%s", "value": "%s", "weights": "%s"}',
    out, case$layer, case$id, case$value, case$weights))
}

crime <- as.numeric(layers$columbus$CRIME)
global <- moran.test(crime, nb2listw(poly2nb(layers$columbus), style = "W"))
writeLines(c(
  "{",
  sprintf('  "r_version": "%s",', R.version.string),
  sprintf('  "spdep_version": "%s",', as.character(packageVersion("spdep"))),
  sprintf('  "spdata_version": "%s",', as.character(packageVersion("spData"))),
  sprintf('  "columbus_crime_queen_global_moran_i": %s,', fmt(global$estimate[[1]])),
  '  "cases": [',
  paste(summary_lines, collapse = ",\n"),
  "  ]",
  "}"
), "golden.json")
