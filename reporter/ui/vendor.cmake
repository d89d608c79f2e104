# SPDX-License-Identifier: MIT
# Vendors the report's JavaScript at build time (cmake -P, from reporter/CMakeLists.txt):
# `npm ci --omit=dev` from package-lock.json in WORK, then the dist bundles and their
# licence files into STATIC (the directory renkei serves under /static/). Never fails the
# build: without npm or network the graph page says the renderer is missing and shows
# its table.  Inputs: -DSRC=reporter/ui -DWORK=<build>/ui-npm -DSTATIC=<build>/share/renkei/static
file(MAKE_DIRECTORY ${WORK} ${STATIC})
file(COPY ${SRC}/renkei-graph.js DESTINATION ${STATIC})
file(COPY ${SRC}/package.json ${SRC}/package-lock.json DESTINATION ${WORK})
find_program(NPM npm)
set(ok FALSE)
if(NPM)
  execute_process(COMMAND ${NPM} ci --omit=dev --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err
                  TIMEOUT 300)
  if(rc EQUAL 0)
    set(ok TRUE)
  else()
    message(WARNING "report UI: npm ci failed (${rc}): ${err}; the graph page will use its table")
  endif()
else()
  message(WARNING "report UI: npm not found; the graph page will use its table")
endif()
set(nm ${WORK}/node_modules)
if(ok AND EXISTS ${nm}/sigma/dist/sigma.min.js AND EXISTS ${nm}/graphology/dist/graphology.umd.min.js)
  file(COPY ${nm}/sigma/dist/sigma.min.js ${nm}/graphology/dist/graphology.umd.min.js
       DESTINATION ${STATIC})
  file(COPY_FILE ${nm}/sigma/LICENSE.txt ${STATIC}/sigma.LICENSE.txt)
  file(COPY_FILE ${nm}/graphology/LICENSE.txt ${STATIC}/graphology.LICENSE.txt)
  message(STATUS "report UI: sigma.js and graphology vendored into ${STATIC}")
else()
  file(REMOVE ${STATIC}/sigma.min.js ${STATIC}/graphology.umd.min.js)
endif()
