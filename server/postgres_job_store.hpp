// The scale-out JobStore: builds in a PostgreSQL database (postgres_database.hpp) that every
// replica shares. Claims use FOR UPDATE SKIP LOCKED and fence leases by attempt number;
// enqueue, release and requeue NOTIFY oci2eif_work, which watch() listens to.
#pragma once

#include "server/job_store.hpp"

#include <memory>

namespace oci2eif::server {

class PostgresDatabase;

// A store over `db`, whose schema open_postgres_database() brought up to date. Times come from
// `clock`. Several stores (threads, replicas) may share one database.
std::unique_ptr<JobStore> open_postgres_job_store(std::shared_ptr<PostgresDatabase> db,
                                                  Clock clock);

} // namespace oci2eif::server
