// Users for the store's tests (the contract suite and the backends' own): a person's
// claims, the users a database held before migration 8, and many first sign-ins at once
// over one store or several nodes of one database.
#ifndef KEYPAIRD_STORE_TESTING_USERS_TESTING_H_
#define KEYPAIRD_STORE_TESTING_USERS_TESTING_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store::testing {

inline UserRecord Person(std::string subject, std::string issuer = "https://idp.example.com") {
  UserRecord claims;
  claims.issuer = std::move(issuer);
  claims.subject = std::move(subject);
  claims.email = "someone@example.com";
  return claims;
}

inline GrantRecord ViewerGrant(std::string id) {
  GrantRecord grant;
  grant.id = std::move(id);
  grant.group = "staff";
  grant.projects = {1};
  grant.role = "viewer";
  return grant;
}

// What a database may hold before migration 8: two tokens of user 3 (made at 50 and 40)
// and a key of user 9 (made at 70).
inline Status AddTokensAndKeysOfUsers3And9(KeyStore& store) {
  for (const auto& [id, created] :
       std::vector<std::pair<std::string, int64_t>>{{"t1", 50}, {"t2", 40}}) {
    TokenRecord token;
    token.id = id;
    token.user_id = 3;
    token.admin = true;
    token.secret_hash = std::string(32, 'h');
    token.created_at_us = created;
    if (Status s = store.InsertToken(token, {}); !s.ok()) return s;
  }
  KeyRecord key;
  key.id = "k1";
  key.project_id = 1;
  key.user_id = 9;
  key.name = "k1";
  key.public_key = "ssh-ed25519 AAAA x";
  key.fingerprint = "00:11";
  key.created_at_us = 70;
  key.updated_at_us = 70;
  return store.InsertKey(key, {});
}

// OK if the store holds the token users migration 8 makes of them (each made when first
// seen) and the next person gets id 10; kInternal saying what differs otherwise.
inline Status CheckUsersOf3And9(KeyStore& store) {
  UserRecord three;
  three.id = 3;
  three.created_at_us = 40;
  UserRecord nine;
  nine.id = 9;
  nine.created_at_us = 70;
  StatusOr<std::vector<UserRecord>> users = store.ListUsers();
  if (!users.ok()) return users.status();
  if (*users != std::vector<UserRecord>{three, nine}) return Internal("not users 3 and 9 alone");
  StatusOr<UserRecord> person = store.SignIn(Person("sub-1"), 100, {});
  if (!person.ok()) return person.status();
  if (person->id != 10) return Internal("the next person is " + std::to_string(person->id));
  return Status::Ok();
}

// `threads` threads, taking `nodes` in turn, each signing in `each` people of its own at
// once; returns the ids they were given and counts the failed calls in *failures.
// `also(node, thread, i)`, if set, runs before each sign-in (false: a failure).
inline std::vector<int64_t> SignInConcurrently(
    const std::vector<KeyStore*>& nodes, int threads, int each, std::atomic<int>* failures,
    const std::function<bool(KeyStore&, int, int)>& also = {}) {
  std::latch start(threads);
  std::vector<std::vector<int64_t>> ids(threads);
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      KeyStore& node = *nodes[t % nodes.size()];
      start.arrive_and_wait();
      for (int i = 0; i < each; ++i) {
        if (also && !also(node, t, i)) ++*failures;
        auto user =
            node.SignIn(Person("sub-" + std::to_string(t) + "-" + std::to_string(i)), 100 + i, {});
        if (user.ok()) {
          ids[t].push_back(user->id);
        } else {
          ++*failures;
        }
      }
    });
  }
  for (auto& t : running) t.join();
  std::vector<int64_t> all;
  for (const auto& of_thread : ids) all.insert(all.end(), of_thread.begin(), of_thread.end());
  return all;
}

}  // namespace keypaird::store::testing

#endif  // KEYPAIRD_STORE_TESTING_USERS_TESTING_H_
